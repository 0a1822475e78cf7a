-- Neovim as a real LSP client for the tests (test/unit/nvim.test.mjs). Neovim 0.7 (Debian 12):
-- vim.lsp.start_client + buf_attach_client. Writes the diagnostics of the current buffer to $KL_OUT.
local ws = vim.env.KL_WS
local out = io.open(vim.env.KL_OUT, 'w')
local id = vim.lsp.start_client({ name = 'kernlife', cmd = { 'node', vim.env.KL_SERVER, '--stdio' }, root_dir = ws,
  workspace_folders = { { uri = vim.uri_from_fname(ws), name = 'ws' } } })
vim.lsp.buf_attach_client(0, id)
local found = vim.wait(30000, function()
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if d.code == 'waitqueue-freed-while-polled' then return true end
  end
  return false
end, 200)
for _, d in ipairs(vim.diagnostic.get(0)) do
  out:write(string.format('%s:%d:%d: %s [%s] %s\n', vim.fn.expand('%:t'), d.lnum + 1, d.col + 1, d.code or '', d.source or '', d.severity))
end
out:write(found and 'DONE\n' or 'TIMEOUT\n')
out:close()
vim.lsp.stop_client(id)
vim.cmd('qa!')
