module socklens.test/h2pool

go 1.19
