module socklens.test/fanout

go 1.19
