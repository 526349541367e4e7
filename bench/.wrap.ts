setTimeout(() => process.exit(0), Number(process.env.WRAP_MS ?? 12000));
process.argv.splice(1, 1);
await import(process.argv[1]!);
