; Comments, for suppressions (kernlife-ignore) and fixture markers.
(comment) @comment
