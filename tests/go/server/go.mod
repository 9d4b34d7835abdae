module socklens.test/server

go 1.19
