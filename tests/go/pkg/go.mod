module socklens.test/pkg

go 1.19
