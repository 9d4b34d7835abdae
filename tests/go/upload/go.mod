module socklens.test/upload

go 1.19
