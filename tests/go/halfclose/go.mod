module socklens.test/halfclose

go 1.19
