; Initialised declarations of a named struct type: candidate ops tables. Which struct names are
; ops tables is knowledge (server/src/knowledge), not grammar, so the query stays generic.
(declaration
  type: (struct_specifier name: (type_identifier) @struct)
  declarator: (init_declarator
    declarator: (_) @declarator
    value: (initializer_list) @init)) @table
