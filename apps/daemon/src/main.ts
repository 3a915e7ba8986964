console.log('forgeoned');
