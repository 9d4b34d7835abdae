module socklens.test/lookup

go 1.19
