module socklens.test/stream

go 1.19
