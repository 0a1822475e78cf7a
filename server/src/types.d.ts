// Query files in grammars/c are bundled as text by esbuild (loader: text).
declare module '*.scm' {
  const source: string;
  export default source;
}
