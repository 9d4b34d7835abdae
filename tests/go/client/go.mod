module socklens.test/client

go 1.19
