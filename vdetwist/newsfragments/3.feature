vdetwist.stack gives every process user-space TCP/IP hosts whose sockets are Twisted transports, with vde: endpoints and the vdetwist cat netcat.
