module socklens.test/silent

go 1.19
