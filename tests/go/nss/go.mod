module socklens.test/nss

go 1.19
