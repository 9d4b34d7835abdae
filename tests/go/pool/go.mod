module socklens.test/pool

go 1.19
