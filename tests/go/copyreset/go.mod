module socklens.test/copyreset

go 1.19
