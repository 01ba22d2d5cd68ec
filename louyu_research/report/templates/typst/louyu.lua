-- The report's Typst output, the same through both renderers (pandoc offline, Quarto):
-- * tables get natural column widths (a pipe table wider than pandoc's line width would
--   otherwise get widths from its dashes, which wraps labels character by character);
-- * a table's bold title line sticks to the table, so it never stays alone at a page bottom;
-- * Quarto's cell and output Divs (each a Typst block) are unwrapped: the content flows as
--   it does offline, and a section heading sticks to what follows it in the next output.

local CELL_DIVS = { "cell", "cell-output", "cell-output-display", "cell-output-markdown" }

local function unwrap_cells(div)
  for _, class in ipairs(CELL_DIVS) do
    if div.classes:includes(class) then
      return div.content
    end
  end
end

local function natural_widths(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], pandoc.ColWidthDefault }
  end
  return tbl
end

local function is_title(block)
  return block.t == "Para" and #block.content == 1 and block.content[1].t == "Strong"
end

local function keep_titles_with_tables(blocks)
  local out = pandoc.Blocks({})
  for i, block in ipairs(blocks) do
    local following = blocks[i + 1]
    if is_title(block) and following ~= nil and following.t == "Table" then
      out:insert(pandoc.RawBlock("typst", "#block(sticky: true)["))
      out:insert(block)
      out:insert(pandoc.RawBlock("typst", "]"))
    else
      out:insert(block)
    end
  end
  return out
end

return {
  { Div = unwrap_cells },
  { Table = natural_widths },
  { Blocks = keep_titles_with_tables },
}
