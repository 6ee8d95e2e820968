LEAF = ""
CONST = "const"
