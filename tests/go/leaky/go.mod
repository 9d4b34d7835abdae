module socklens.test/leaky

go 1.19
