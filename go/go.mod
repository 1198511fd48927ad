module etlcopy

go 1.27
