# The whole module from hiera: runit::services, runit::users, … (or the original module's
# `runit` hash) in the node's data, and one include.
#
#   runit::services:
#     web:
#       command: /usr/local/bin/web --port 8080
#       user: www-data
#       check: {http: "http://127.0.0.1:8080/health"}
#   runit::users: [apprun1, apprun2]
include runit
