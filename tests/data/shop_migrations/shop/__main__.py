print("the shop has no server; only its migrations are checked")
