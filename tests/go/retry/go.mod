module retry

go 1.19
