module socklens.test/hangnth

go 1.19
