#!/bin/sh
# Prints the signal state this program was started with: the mask and the ignored set.
exec grep -E '^(SigBlk|SigIgn):' /proc/self/status
