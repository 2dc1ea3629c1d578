module github.com/backchannel/backchannel

go 1.26.8
