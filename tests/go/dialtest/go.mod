module socklens.test/dialtest

go 1.19
