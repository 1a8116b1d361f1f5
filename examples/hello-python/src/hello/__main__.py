from hello import greeting

print(greeting("Tingle"))
