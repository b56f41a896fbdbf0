TCP, vdetwist.stack.tcp.demux.TCPLayer, gives virtual hosts listening and connecting Twisted transports, tested segment by segment and against the Linux kernel.
