module github.com/edgeauth/edgeauth-go

go 1.19
