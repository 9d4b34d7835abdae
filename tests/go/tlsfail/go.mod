module socklens.test/tlsfail

go 1.19
