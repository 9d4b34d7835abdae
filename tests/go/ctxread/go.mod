module socklens.test/ctxread

go 1.19
