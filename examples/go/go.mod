module edgeauth.example/edgeauth

go 1.19
