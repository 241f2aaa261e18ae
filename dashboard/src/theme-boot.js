// Loaded before the page renders (a blocking script in <head>): applies the theme the
// user picked, so the page does not flash the other one. Without a pick the CSS follows
// prefers-color-scheme.
try {
  const theme = localStorage.getItem('sitelens-theme')
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme
} catch (e) { /* storage blocked: follow the system */ }
