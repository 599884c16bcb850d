// Runs when `node-gyp rebuild --directory native` fails during `npm install`: hakeep cannot send
// gratuitous ARPs or talk to systemd without its small C addon, so say what to install and fail.
console.error(`
hakeep: building the native addon (native/, gratuitous ARP and sd_notify) failed.
The usual cause is missing build tools. Install them and run npm install again:

    apt-get install -y python3 make g++        (Debian/Ubuntu)
    dnf install -y python3 make gcc-c++        (Fedora/RHEL)

If they are installed, read the node-gyp output above for the compiler error.
`);
process.exit(1);
