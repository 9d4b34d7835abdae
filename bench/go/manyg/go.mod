module socklens.bench/manyg

go 1.19
