module grailos

go 1.26
