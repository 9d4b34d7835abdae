module socklens.test/group

go 1.19
