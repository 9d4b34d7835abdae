module example.com/deps

go 1.19

require example.net/busclient v0.0.0

replace example.net/busclient => ./busclient
