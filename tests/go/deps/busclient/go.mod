module example.net/busclient

go 1.19
