package e2e

import "syscall"

const syscallHUP = syscall.SIGHUP
