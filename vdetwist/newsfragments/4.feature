twistd slirp is a NAT gateway with DHCP, DNS, outbound NAT and per-connection port forwards that work for every guest.
