; Top-level macro invocations such as DEFINE_SHOW_ATTRIBUTE(foo); which generate ops tables.
(translation_unit
  (expression_statement
    (call_expression
      function: (identifier) @macro
      arguments: (argument_list) @args)) @invocation)
(translation_unit
  (declaration
    declarator: (function_declarator
      declarator: (identifier) @macro
      parameters: (parameter_list) @args)) @invocation)
