module connectlab.dev/golab

go 1.26.0
