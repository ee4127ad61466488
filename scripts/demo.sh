#!/bin/sh
# The scripted crisis exercise (being built).
echo "demo: being built"
