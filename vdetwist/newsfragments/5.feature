bin/run brings up the tutorial's whole network, docs/tutorial.txt is run as a test, and the switch captures ports to pcap files.
