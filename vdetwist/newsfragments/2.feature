The switch, twistd vdeswitch, forwards frames between Debian's VDE tools with vde_switch's options, control protocol and console.
