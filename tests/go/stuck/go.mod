module socklens.test/stuck

go 1.19
