module socklens.test/httpd

go 1.19
