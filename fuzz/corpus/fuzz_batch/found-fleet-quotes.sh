#!/bin/sh
#FLEET :"a d"qu"quot"e\d b" -e
